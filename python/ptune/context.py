"""Contexts: the forward pass, losses, logits, backward, and generation (including streaming)."""

import atexit
import contextlib
import ctypes
import queue
import threading
import weakref

from . import _lib
from . import _structs as S
from ._handle import Handle, cstr, cstr_array, enum_value, fill, int32_array, numpy, using
from .errors import Aborted, StateError, check, error_for, invalid
from .model import Model
from .prompt import Prompt

_P_I32 = ctypes.POINTER(ctypes.c_int32)


def _prompt_arg(prompt):
    if prompt is not None and not isinstance(prompt, Prompt):
        raise TypeError("prompt must be a ptune.Prompt or None, got %s" % type(prompt).__name__)
    return prompt


# ---- sampling parameters -----------------------------------------------------------------------

SAMPLING_KEYS = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty", "max_new_tokens",
                 "max_length", "seed", "stop_ids", "stop_strings", "ignore_eos")


def sampling_params(kwargs):
    """A SamplingParams filled by ptune_sampling_params_init, then from keyword arguments:
    temperature, top_k, top_p, min_p, repetition_penalty, max_new_tokens, max_length, seed,
    stop_ids (list of ids), stop_strings (list of str), ignore_eos (bool)."""
    sp = S.SamplingParams()
    _lib.ptune_sampling_params_init_sized(ctypes.byref(sp), ctypes.sizeof(sp))
    keep = []

    def stop_ids(st, value):
        if value is None:
            return
        arr, n = int32_array(value, "stop_ids")
        keep.append(arr)
        st.stop_ids = ctypes.cast(arr, _P_I32)
        st.n_stop_ids = n

    def stop_strings(st, value):
        arr, n = cstr_array(value, "stop string")
        if arr is None:
            return
        keep.append(arr)
        st.stop_strings = arr
        st.n_stop_strings = n

    def reject(st, value):
        raise TypeError("n_stop_ids / n_stop_strings are set from stop_ids / stop_strings")

    fill(sp, kwargs, {"stop_ids": stop_ids, "stop_strings": stop_strings, "n_stop_ids": reject,
                      "n_stop_strings": reject}, "sampling")
    sp._ptune_keep = keep
    return sp


def _piece(addr, n):
    return ctypes.string_at(addr, n).decode("utf-8", "replace") if addr and n else ""


def _token_callback(fn, errors, stopped):
    """Wraps a Python fn(token, text) -> truthy-to-stop as a ptune_token_fn. An exception inside
    fn stops generation and is re-raised by the caller."""
    if fn is None:
        return S.TOKEN_FN()

    def cb(token, addr, n, user):
        try:
            if fn(token, _piece(addr, n)):
                stopped.append(True)
                return 1
            return 0
        except BaseException as e:  # noqa: B902 - re-raised in the calling thread
            errors.append(e)
            return 1
    return S.TOKEN_FN(cb)


class GenerateRequest:
    """One sequence of Context.generate_batch: input ids, its own soft prompt (or None), and
    whether to record the raw logits of each sampling step."""

    def __init__(self, ids, prompt=None, logits=False):
        self.ids = ids
        self.prompt = _prompt_arg(prompt)
        self.logits = bool(logits)


class GenerateResult:
    """What one sequence of generate_batch produced: .tokens (new ids) and .logits (None, or one
    row of n_vocab floats per sampling step: a list of lists, or a numpy array)."""

    def __init__(self, tokens, logits=None):
        self.tokens = tokens
        self.logits = logits

    def __repr__(self):
        return "GenerateResult(tokens=%r%s)" % (self.tokens, ", logits=..." if self.logits is not None else "")


class Context(Handle):
    """A workspace on one model (which it keeps alive). A context is used by one thread at a
    time: a call made while another call — or a generate_stream() — is running on it raises
    StateError instead of racing.

    Parameters (keyword-only; 0/None = the library default): n_threads (0 = all cores),
    max_tokens (rows of a batch, virtual rows included; default 512; also positions per
    generated sequence), logits ("none" | "last" | "all"), training (keep what backward needs),
    n_seq_max (sequences generated at once), no_prefix_cache, recompute (training: keep only
    each block's input and recompute the rest during backward — less memory, slower)."""

    _kind = "context"
    _free_fn = "ptune_ctx_free"

    def __init__(self, model, **params):
        if not isinstance(model, Model):
            raise TypeError("Context needs a ptune.Model, got %s" % type(model).__name__)
        cp = S.CtxParams()
        _lib.ptune_ctx_params_init_sized(ctypes.byref(cp), ctypes.sizeof(cp))

        def logits(st, value):
            st.logits = enum_value(value, S.LOGITS_MODE, "logits mode")
        fill(cp, params, {"logits": logits}, "context")
        out = ctypes.c_void_p()
        with model._use() as m:
            check(_lib.ptune_ctx_new(m, ctypes.byref(cp), ctypes.byref(out)))
            super().__init__(out.value, deps=(model,))
            self._n_vocab = _lib.ptune_model_n_vocab(m)
        self.model = model
        self.params = {name: getattr(cp, name) for name, _ in cp._fields_ if name != "struct_size"}
        self._busy = threading.Lock()

    def _describe(self):
        return "context on %s" % self.model._describe()

    @contextlib.contextmanager
    def _use(self):
        with super()._use() as p:
            if not self._busy.acquire(blocking=False):
                raise StateError("the context is in use (another thread, a callback, or a "
                                 "generate_stream that is still open); a context is used by one "
                                 "thread at a time")
            try:
                yield p
            finally:
                self._busy.release()

    # ---- forward / loss / backward -----------------------------------------------------------
    def forward(self, batch, labels=None, prompt=None):
        """Runs the model on a ragged batch: a list of id lists (no padding). labels: None
        (labels = ids), or one entry per sequence — None or a list as long as its ids, -100 where
        not scored. prompt: the soft prompt placed before every sequence, or None."""
        _prompt_arg(prompt)
        if isinstance(batch, (str, bytes)) or not hasattr(batch, "__iter__"):
            raise TypeError("forward takes a batch: a list of id lists, e.g. [[1, 2, 3]]")
        seqs = list(batch)
        if not seqs:
            raise invalid("forward: the batch is empty")
        if isinstance(seqs[0], int):
            raise TypeError("forward takes a batch: a list of id lists, e.g. [[1, 2, 3]], not a flat list of ids")
        n = len(seqs)
        keep = []
        ids_ptrs = (_P_I32 * n)()
        lens = (ctypes.c_int32 * n)()
        for i, seq in enumerate(seqs):
            arr, ln = int32_array(seq, "ids of sequence %d" % i)
            keep.append(arr)
            ids_ptrs[i] = ctypes.cast(arr, _P_I32)
            lens[i] = ln
        batch_s = S.Batch(n_seq=n, ids=ids_ptrs, len=lens)
        if labels is not None:
            labels = list(labels)
            if len(labels) != n:
                raise invalid("forward: %d label sequences for %d sequences" % (len(labels), n))
            lab_ptrs = (_P_I32 * n)()
            for i, lab in enumerate(labels):
                if lab is None:
                    lab_ptrs[i] = ids_ptrs[i]
                    continue
                arr, ln = int32_array(lab, "labels of sequence %d" % i)
                if ln != lens[i]:
                    raise invalid("forward: sequence %d has %d ids but %d labels" % (i, lens[i], ln))
                keep.append(arr)
                lab_ptrs[i] = ctypes.cast(arr, _P_I32)
            batch_s.labels = lab_ptrs
        with using(self, prompt) as (c, p):
            check(_lib.ptune_forward(c, p, ctypes.byref(batch_s)))

    def loss(self, with_count=False):
        """Mean NLL over every counted target of the last forward batch (with_count: also the
        number of counted targets)."""
        loss = ctypes.c_double()
        n = ctypes.c_int64()
        with self._use() as c:
            check(_lib.ptune_loss(c, ctypes.byref(loss), ctypes.byref(n)))
        return (loss.value, n.value) if with_count else loss.value

    def seq_loss(self, seq, with_count=False):
        """Mean NLL of sequence `seq` of the last forward pass."""
        loss = ctypes.c_double()
        n = ctypes.c_int64()
        with self._use() as c:
            check(_lib.ptune_seq_loss(c, int(seq), ctypes.byref(loss), ctypes.byref(n)))
        return (loss.value, n.value) if with_count else loss.value

    def token_logprobs(self, seq, as_numpy=False):
        """Log-probability of each counted target of sequence `seq`, in row order."""
        n = ctypes.c_int32()
        with self._use() as c:
            st = _lib.ptune_token_logprobs(c, int(seq), None, 0, ctypes.byref(n))
            if st == S.PTUNE_E_BUFFER_TOO_SMALL:
                buf = (ctypes.c_float * n.value)()
                st = _lib.ptune_token_logprobs(c, int(seq), buf, n.value, ctypes.byref(n))
            else:
                buf = (ctypes.c_float * 0)()
            check(st)
        if as_numpy:
            return numpy().array(buf[:n.value], dtype="float32")
        return buf[:n.value]

    def logits(self, seq, as_numpy=False):
        """Logits of sequence `seq` kept by the last forward (per the context's logits mode):
        a list of rows of n_vocab floats, or a float32 numpy array [rows, n_vocab] (a copy)."""
        ptr = ctypes.c_void_p()
        rows = ctypes.c_int32()
        with self._use() as c:
            check(_lib.ptune_logits(c, int(seq), ctypes.byref(ptr), ctypes.byref(rows)))
            vocab = self._n_vocab
            n = rows.value * vocab
            if as_numpy:
                np = numpy()
                if n == 0:
                    return np.zeros((0, vocab), dtype=np.float32)
                flat = np.ctypeslib.as_array((ctypes.c_float * n).from_address(ptr.value))
                return flat.reshape(rows.value, vocab).copy()
            flat = (ctypes.c_float * n).from_address(ptr.value) if n else []
            return [flat[r * vocab:(r + 1) * vocab] for r in range(rows.value)]

    def backward(self, prompt):
        """Adds d(loss)/d(prompt) of the last forward into prompt's gradient (accumulates)."""
        if not isinstance(prompt, Prompt):
            raise TypeError("backward needs the ptune.Prompt the forward pass used")
        with using(self, prompt) as (c, p):
            check(_lib.ptune_backward(c, p))

    # ---- generation ----------------------------------------------------------------------------
    def generate(self, ids, prompt=None, on_token=None, **sampling):
        """Generates a continuation of `ids` (after the soft prompt's rows when given) and returns
        the new ids. on_token(token, text) is called per token (token -1 flushes held-back text);
        a truthy return stops early — the tokens so far are returned. Sampling keywords:
        temperature (0 = greedy), top_k, top_p, min_p, repetition_penalty, max_new_tokens,
        max_length, seed, stop_ids, stop_strings, ignore_eos. CapacityError carries .tokens."""
        _prompt_arg(prompt)
        sp = sampling_params(sampling)
        arr, n = int32_array(ids)
        cap = max(1, sp.max_new_tokens)
        out = (ctypes.c_int32 * cap)()
        n_out = ctypes.c_int32()
        errors, stopped = [], []
        cb = _token_callback(on_token, errors, stopped)
        with using(self, prompt) as (c, p):
            st = _lib.ptune_generate(c, p, arr, n, ctypes.byref(sp), out, cap, ctypes.byref(n_out), cb, None)
            err = error_for(st) if st else None
        tokens = out[:n_out.value]
        if errors:
            raise errors[0]
        if err is not None and not (err.status == S.PTUNE_E_ABORTED and stopped):
            err.tokens = tokens
            raise err
        return tokens

    def generate_text(self, text, prompt=None, on_token=None, **sampling):
        """Text in, text out with the model's tokenizer (BOS included; "" means BOS alone).
        Returns the new text; on_token and sampling as in generate(). CapacityError carries
        .text."""
        _prompt_arg(prompt)
        sp = sampling_params(sampling)
        data = cstr(text, "text")
        out_text = ctypes.c_void_p()
        errors, stopped = [], []
        cb = _token_callback(on_token, errors, stopped)
        with using(self, prompt) as (c, p):
            st = _lib.ptune_generate_text(c, p, data, ctypes.byref(sp), ctypes.byref(out_text), cb, None)
            err = error_for(st) if st else None
        result = None
        if out_text.value:  # also set on ABORTED / CAPACITY: always ours to free
            result = ctypes.string_at(out_text.value).decode("utf-8", "replace")
            _lib.ptune_free(out_text.value)
        if errors:
            raise errors[0]
        if err is not None and not (err.status == S.PTUNE_E_ABORTED and stopped):
            err.text = result
            raise err
        return result

    def generate_batch(self, requests, on_token=None, as_numpy=False, **sampling):
        """Generates for several sequences at once (needs n_seq_max >= len(requests)). Each
        request is a list of ids or a GenerateRequest (ids, its own prompt, logits=True to record
        raw logits). on_token(seq, token, text) as in generate(). Returns GenerateResult per
        request; each equals what a separate generate() with the same seed gives."""
        reqs = [r if isinstance(r, GenerateRequest) else GenerateRequest(r) for r in requests]
        if not reqs:
            raise invalid("generate_batch: no requests")
        sp = sampling_params(sampling)
        cap = max(1, sp.max_new_tokens)
        vocab = self._n_vocab
        n = len(reqs)
        cr = (S.GenerateRequest * n)()
        keep = []
        for i, r in enumerate(reqs):
            arr, ln = int32_array(r.ids, "ids of request %d" % i)
            out = (ctypes.c_int32 * cap)()
            keep.extend((arr, out))
            cr[i].ids = ctypes.cast(arr, _P_I32)
            cr[i].n_ids = ln
            cr[i].out = ctypes.cast(out, _P_I32)
            cr[i].cap = cap
            if r.logits:
                lg = (ctypes.c_float * (cap * vocab))()
                keep.append(lg)
                cr[i].logits = ctypes.cast(lg, ctypes.POINTER(ctypes.c_float))
                cr[i].logits_rows = cap
        errors, stopped = [], []
        if on_token is None:
            cb = S.BATCH_TOKEN_FN()
        else:
            def _cb(seq, token, addr, ln, user):
                try:
                    if on_token(seq, token, _piece(addr, ln)):
                        stopped.append(True)
                        return 1
                    return 0
                except BaseException as e:  # noqa: B902
                    errors.append(e)
                    return 1
            cb = S.BATCH_TOKEN_FN(_cb)
        prompts = [r.prompt for r in reqs]
        with using(self, *prompts) as ptrs:
            for i, pp in enumerate(ptrs[1:]):
                cr[i].prompt = pp
            st = _lib.ptune_generate_batch(ptrs[0], cr, n, ctypes.byref(sp), cb, None)
            err = error_for(st) if st else None
        results = []
        for i, r in enumerate(reqs):
            q = cr[i]
            tokens = list(q.out[:q.n_out])
            logits = None
            if r.logits:
                rows = q.n_logits
                flat = q.logits[:rows * vocab]
                if as_numpy:
                    logits = numpy().array(flat, dtype="float32").reshape(rows, vocab)
                else:
                    logits = [flat[k * vocab:(k + 1) * vocab] for k in range(rows)]
            results.append(GenerateResult(tokens, logits))
        if errors:
            raise errors[0]
        if err is not None and not (err.status == S.PTUNE_E_ABORTED and stopped):
            err.results = results
            raise err
        return results

    def generate_stream(self, input, prompt=None, **sampling):
        """Starts generating in a worker thread and returns a GenerationStream: an iterator of
        (token, text) pairs delivered as they are sampled. `input` is a list of ids (as
        generate()) or a str (as generate_text()). Closing the stream (close(), leaving a `with`
        block, breaking out of a for loop, or dropping it) stops generation at the next token.
        The context is busy until the stream ends."""
        return GenerationStream(self, input, prompt, sampling)


# ---- streaming -----------------------------------------------------------------------------------

_END = object()
_live_streams = weakref.WeakSet()


class _StreamState:
    """What the worker and the consumer share (the worker never references the stream object, so
    dropping the stream runs its finalizer and stops the worker)."""

    def __init__(self):
        self.queue = queue.Queue()
        self.stop = threading.Event()
        self.error = None
        self.tokens = None
        self.text = None


def _stream_worker(state, call, release):
    def cb(token, addr, n, user):
        if state.stop.is_set():
            return 1
        try:
            state.queue.put((token, _piece(addr, n)))
        except BaseException:  # noqa: B902 - never let an exception cross into C
            return 1
        return 0
    fn = S.TOKEN_FN(cb)
    try:
        call(fn, state)
    except BaseException as e:  # noqa: B902
        state.error = e
    finally:
        release()
        state.queue.put(_END)


class GenerationStream:
    """Iterator of (token, text) from a generation running in a worker thread. A last pair with
    token -1 may deliver text that was held back (an unfinished multi-byte sequence). After the
    iteration ends, .tokens holds the new ids and .text the generated text; errors (e.g.
    CapacityError) are raised from the iterator after the tokens produced before them."""

    def __init__(self, ctx, input, prompt, sampling):
        if not isinstance(ctx, Context):
            raise TypeError("GenerationStream needs a ptune.Context")
        _prompt_arg(prompt)
        sp = sampling_params(sampling)
        if isinstance(input, (str, bytes)):
            data = cstr(input, "text")

            def call(fn, state):
                out_text = ctypes.c_void_p()
                st = _lib.ptune_generate_text(self_c[0], self_p[0], data, ctypes.byref(sp),
                                              ctypes.byref(out_text), fn, None)
                err = error_for(st) if st else None
                if out_text.value:
                    state.text = ctypes.string_at(out_text.value).decode("utf-8", "replace")
                    _lib.ptune_free(out_text.value)
                if err is not None:
                    err.text = state.text
                    state.error = err
        else:
            arr, n = int32_array(input)
            cap = max(1, sp.max_new_tokens)
            out = (ctypes.c_int32 * cap)()

            def call(fn, state):
                n_out = ctypes.c_int32()
                st = _lib.ptune_generate(self_c[0], self_p[0], arr, n, ctypes.byref(sp), out, cap,
                                         ctypes.byref(n_out), fn, None)
                err = error_for(st) if st else None
                state.tokens = out[:n_out.value]
                if err is not None:
                    err.tokens = state.tokens
                    state.error = err

        # pin the context (and take its busy lock) and the prompt until the worker ends
        self_c, self_p = [None], [None]
        ctx._pin()
        if not ctx._busy.acquire(blocking=False):
            ctx._unpin()
            raise StateError("the context is in use; a context runs one generation at a time")
        try:
            if prompt is not None:
                prompt._pin()
        except BaseException:
            ctx._busy.release()
            ctx._unpin()
            raise
        self_c[0], self_p[0] = ctx._ptr, (prompt._ptr if prompt is not None else None)

        def release():
            ctx._busy.release()
            ctx._unpin()
            if prompt is not None:
                prompt._unpin()

        self.context = ctx
        self.prompt = prompt
        self.tokens = []
        self.text = ""
        self._pieces = []
        self._finished = False
        self._state = _StreamState()
        self._thread = threading.Thread(target=_stream_worker, args=(self._state, call, release),
                                        name="ptune-generate", daemon=True)
        self._thread.start()
        _live_streams.add(self)

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        item = self._state.queue.get()
        if item is _END:
            self._finish()
            err = self._state.error
            if err is not None and not (isinstance(err, Aborted) and self._state.stop.is_set()):
                raise err
            raise StopIteration
        token, piece = item
        if token >= 0:
            self.tokens.append(token)
        self._pieces.append(piece)
        self.text = "".join(self._pieces)
        return item

    def _finish(self):
        self._thread.join()
        self._finished = True
        st = self._state
        if st.tokens is not None and not st.stop.is_set():
            self.tokens = list(st.tokens)
        if st.text is not None and not st.stop.is_set():
            self.text = st.text

    def close(self):
        """Stops the generation (at the next token) and waits for the worker to end. Idempotent."""
        if self._finished:
            return
        self._state.stop.set()
        self._thread.join()
        self._finished = True

    @property
    def running(self):
        return not self._finished and self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


@atexit.register
def _close_streams():
    for s in list(_live_streams):
        try:
            s.close()
        except Exception:
            pass
