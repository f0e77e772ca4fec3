"""Handle lifetime management and small conversion helpers shared by the wrappers.

Every wrapper object owns one C handle. The rules:

* ``close()`` is idempotent; ``with`` closes on exit; ``__del__`` is only a fall-back.
* An object that the C API says must outlive another (the model under a context, prompt,
  dataset or trainer; the tokenizer under a token stream; everything a trainer borrows) is
  *pinned* by it: the dependent keeps a Python reference and a pin count on it.
* Each C call on a handle pins it for the call's duration, so a ``close()`` from another thread
  while a call is running never frees memory under it.
* ``close()`` marks the object closed at once (any further use raises ClosedError) and frees the
  C handle as soon as nothing pins it any more — immediately in the usual case, otherwise when
  the last dependent (or numpy view of a prompt) goes away. Nothing is ever freed twice.
"""

import array
import contextlib
import ctypes
import threading

from . import _lib
from .errors import ClosedError, invalid

_LOCK = threading.RLock()

assert array.array("i").itemsize == 4, "the bindings assume a 32-bit C int"


class Handle:
    """Base of every wrapper that owns (or borrows) a C handle."""

    _free_fn = None       # name of the ptune_*_free function, None for borrowed handles
    _kind = "handle"

    def __init__(self, ptr, deps=()):
        # The caller holds a _use() pin on every dependency while the C handle is created and
        # while this runs, so none of them can have been freed: pin them without the closed
        # check (a concurrent close() then waits for this object too).
        self._ptr = ptr
        self._closed = False
        self._pins = 0
        self._deps = []
        with _LOCK:
            for d in deps:
                if d is not None:
                    d._pins += 1
                    self._deps.append(d)

    # -- pin bookkeeping -------------------------------------------------------------------------
    def _pin(self):
        with _LOCK:
            if self._closed:
                raise ClosedError("%s is closed" % self._describe())
            self._pins += 1

    def _unpin(self):
        with _LOCK:
            self._pins -= 1
            if self._closed and self._pins == 0:
                self._release()

    def _release(self):
        # called with _LOCK held, at most once per handle (self._ptr is cleared first)
        ptr, self._ptr = self._ptr, None
        if ptr and self._free_fn:
            getattr(_lib, self._free_fn)(ptr)
        deps, self._deps = self._deps, []
        for d in deps:
            d._unpin()

    @contextlib.contextmanager
    def _use(self):
        """Pins the handle for one C call and yields the raw pointer."""
        with _LOCK:
            if self._closed:
                raise ClosedError("%s is closed" % self._describe())
            self._pins += 1
        try:
            yield self._ptr
        finally:
            self._unpin()

    # -- public lifetime API ---------------------------------------------------------------------
    def close(self):
        """Releases the C handle (idempotent). Later use of this object raises ClosedError."""
        with _LOCK:
            if getattr(self, "_closed", True):
                return
            self._closed = True
            if self._pins == 0:
                self._release()

    @property
    def closed(self):
        return self._closed

    def __enter__(self):
        if self._closed:
            raise ClosedError("%s is closed" % self._describe())
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: module globals may already be gone
            pass

    def _describe(self):
        return self._kind

    def __repr__(self):
        state = "closed" if self._closed else "open"
        return "<ptune.%s %s (%s)>" % (type(self).__name__, self._describe(), state)


def raw(obj, kind):
    """The C pointer of an optional wrapper argument (None → NULL); checks the type."""
    if obj is None:
        return None
    if not isinstance(obj, kind):
        raise TypeError("expected a ptune.%s, got %s" % (kind.__name__, type(obj).__name__))
    return obj


@contextlib.contextmanager
def using(*objs):
    """Pins several (possibly None) handles for one call; yields their pointers in order."""
    with contextlib.ExitStack() as stack:
        yield [None if o is None else stack.enter_context(o._use()) for o in objs]


# -- conversions -------------------------------------------------------------------------------

def cstr(value, what):
    """A str/bytes/os.PathLike as NUL-terminated UTF-8 bytes (None stays None)."""
    if value is None:
        return None
    if hasattr(value, "__fspath__"):
        value = value.__fspath__()
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError("%s must be str or bytes, got %s" % (what, type(value).__name__))
    value = bytes(value)
    if b"\0" in value:
        raise invalid("%s contains a NUL character" % what)
    return value


def text_bytes(value, what="text"):
    """Text for length-counted C arguments: str → UTF-8; bytes pass through unchanged (so invalid
    UTF-8 reaches the library, which reports the offset)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be str or bytes, got %s" % (what, type(value).__name__))


def int32_array(values, what="ids"):
    """An iterable of ints as a C int32 array (a ctypes array backed by array('i')).
    Non-integers are a TypeError; values outside int32 are InvalidArgument."""
    if isinstance(values, (str, bytes)):
        raise TypeError("%s must be a sequence of ints, got %s" % (what, type(values).__name__))
    try:
        arr = array.array("i", values)
    except OverflowError:
        raise invalid("%s: a value does not fit in int32" % what) from None
    except TypeError:
        raise TypeError("%s must be a sequence of ints" % what) from None
    n = len(arr)
    if n == 0:
        return (ctypes.c_int32 * 1)(), 0
    return (ctypes.c_int32 * n).from_buffer(arr), n


def cstr_array(values, what):
    """A list of strings as a C `const char *const *` (array, count)."""
    if values is None:
        return None, 0
    if isinstance(values, (str, bytes)):
        values = [values]
    items = [cstr(v, what) for v in values]
    arr = (ctypes.c_char_p * max(1, len(items)))(*items)
    return arr, len(items)


def enum_value(value, table, what):
    """A ptune enum given as its name (case-insensitive) or its integer value."""
    if isinstance(value, str):
        key = value.lower()
        if key not in table:
            raise invalid("unknown %s %r (one of: %s)" % (what, value, ", ".join(table)))
        return table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be a name or an int" % what)
    return value


_INT_RANGES = {
    ctypes.c_int32: (-2 ** 31, 2 ** 31 - 1),
    ctypes.c_int64: (-2 ** 63, 2 ** 63 - 1),
    ctypes.c_uint32: (0, 2 ** 32 - 1),
    ctypes.c_uint64: (0, 2 ** 64 - 1),
}


def fill(struct, kwargs, converters, what):
    """Sets struct fields from keyword arguments, after the library's params_init. Unknown keys
    are a TypeError listing the allowed ones; each converter may turn a Python value into the
    field's C value (and its return value is kept alive by the caller through struct's _objects
    or a keep-alive list)."""
    field_types = dict(struct._fields_)
    allowed = [name for name in field_types if name != "struct_size"]
    for key, value in kwargs.items():
        if key not in converters and key not in allowed:
            raise TypeError("unknown %s parameter %r; allowed: %s"
                            % (what, key, ", ".join(sorted(set(allowed) | set(converters)))))
        conv = converters.get(key)
        if conv is not None:
            conv(struct, value)
        else:
            if value is None:
                continue
            if isinstance(value, bool):
                value = int(value)
            ctype = field_types[key]
            if ctype in _INT_RANGES:
                if not isinstance(value, int):
                    raise TypeError("%s parameter %r must be an int, got %r" % (what, key, value))
                lo, hi = _INT_RANGES[ctype]
                if not lo <= value <= hi:
                    raise invalid("%s parameter %r = %d is outside [%d, %d]" % (what, key, value, lo, hi))
            try:
                setattr(struct, key, value)
            except TypeError:
                raise TypeError("%s parameter %r: bad value %r" % (what, key, value)) from None
    return struct


def float_list(ptr, n):
    """A Python list copy of n floats at ptr."""
    if n == 0:
        return []
    return list((ctypes.c_float * n).from_address(ptr))


def numpy():
    """numpy, or an ImportError saying what needs it."""
    try:
        import numpy as np
    except ImportError as e:
        raise ImportError("this ptune call returns numpy arrays; install numpy "
                          "(Debian: python3-numpy)") from e
    return np
